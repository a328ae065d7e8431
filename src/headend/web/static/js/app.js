/* Headend admin panel: the panel's only script (the Content-Security-Policy allows no inline script).
 *
 * - htmx requests carry the session's CSRF token (X-CSRF-Token, from <meta name="csrf-token">);
 * - forms with data-confirm ask before they submit;
 * - the channel preview plays /admin/preview/{id}.m3u8 with hls.js, or natively (Safari).
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  function say(status, text) {
    if (status) {
      status.textContent = text;
    }
  }

  function playWithHlsJs(video, src, status) {
    var Hls = window.Hls;
    var hls = new Hls({
      enableWorker: true,
      manifestLoadingTimeOut: 25000,
      manifestLoadingMaxRetry: 3,
      liveSyncDurationCount: 2
    });
    hls.on(Hls.Events.MANIFEST_PARSED, function () {
      say(status, "Playing.");
      var played = video.play();
      if (played && played.catch) {
        played.catch(function () { say(status, "Press play to start."); });
      }
    });
    hls.on(Hls.Events.ERROR, function (_event, data) {
      if (data && data.fatal) {
        say(status, "Playback stopped: " + (data.details || "error") + ".");
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
        }
      }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
    return hls;
  }

  function startPreview(button) {
    var video = document.getElementById(button.dataset.preview);
    var status = document.getElementById("preview-status");
    if (!video || video.dataset.started === "yes") {
      return;
    }
    var src = video.dataset.src;
    video.dataset.started = "yes";
    say(status, "Starting the channel…");
    if (window.Hls && window.Hls.isSupported()) {
      playWithHlsJs(video, src, status);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
      video.addEventListener("playing", function () { say(status, "Playing."); });
      video.play().catch(function () { say(status, "Press play to start."); });
    } else {
      video.dataset.started = "no";
      say(status, "This browser cannot play HLS and hls.js is not installed on the server (scripts/ensure-web-assets).");
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof Element) {
      var button = target.closest("[data-preview]");
      if (button) {
        startPreview(button);
      }
    }
  });
})();

"""The subscriber-facing client APIs: the Xtream Codes contract (player_api, panel_api, get.php, xmltv.php)."""

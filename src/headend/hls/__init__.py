"""HLS: GOP-aligned segments cut in memory from a channel's relay chunks, and the playlists that list them."""

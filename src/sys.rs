//! Operating-system glue that is not sockets: today nothing beyond what
//! `signal-hook` gives the loop; the systemd issue adds `sd_notify`
//! (READY/RELOADING/STOPPING/WATCHDOG) and socket activation here.
//! May import `logging` only.

DROP INDEX datasets_live_changed;

DROP INDEX incidents_open;
DROP INDEX owners_team;
DROP TABLE team_snapshots;
DROP TABLE slo_statuses;

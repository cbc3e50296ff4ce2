DROP TABLE team_rollups;

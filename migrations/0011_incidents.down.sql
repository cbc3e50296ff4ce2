DROP TABLE incident_detector;
DROP TABLE incident_events;
DROP TABLE incidents;

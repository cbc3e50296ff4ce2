DROP TABLE notification_failures;
DROP TABLE notifier;
DROP TABLE follows;

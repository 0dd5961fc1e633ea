DROP TABLE integration_tokens;
DROP TABLE login_throttle;
DROP TABLE users;
DROP TABLE unit_lineage;
DROP TABLE ranking_group_members;
DROP TABLE units;
DROP TABLE ranking_groups;

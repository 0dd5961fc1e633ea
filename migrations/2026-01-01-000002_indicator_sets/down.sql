DROP TABLE indicator_pillar_members;
DROP TABLE indicator_pillars;
DROP TABLE indicator_nodes;
DROP TABLE indicator_sets;

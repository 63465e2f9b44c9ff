-- evalua.config: the run's settings. engine/main.c fills this table from the
-- command line before any script runs; scripts may read it (and change it).
return {}

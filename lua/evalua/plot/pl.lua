-- evalua.plot.pl: the PLplot primitives (engine/lplot.c, registered in C as
-- "evalua.plot_pl"); this file only gives it its dotted name.
return require "evalua.plot_pl"

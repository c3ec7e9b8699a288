package kisitest

import "flag"

// Update is the -update flag that rewrites golden files in testdata; it is
// shared by the internal and external tests of the package.
var Update = flag.Bool("update", false, "rewrite the golden files in testdata")

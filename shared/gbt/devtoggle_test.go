package gbt

import "os"

func init() { devInPlace = os.Getenv("GBT_INPLACE") != "0" }

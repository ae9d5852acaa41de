// Package linkcheck holds a test that each function image links only what
// it runs (its own step's packages, not the others'), and that every
// package under shared/ is compiled by some function (go list -deps).
package linkcheck

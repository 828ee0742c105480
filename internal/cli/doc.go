// Package cli holds the drplan command tree (cobra): one file per subcommand, each parsing its
// flags and handing over to the package that does the work. No logic lives here.
package cli

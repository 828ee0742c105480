// Package freeport hands out loopback TCP ports for servers that are started later by another
// process (an API server, Gitea, the sandbox's agent), where a listener cannot simply be passed.
//
// Asking the kernel for port 0 and closing the listener leaves a window in which any other
// bind(0) or outgoing connection on the machine may take the same port: with the test suite's
// many API servers, etcds and clients starting in parallel, that happened (a status endpoint
// answered 404 because another test's server held its port). So ports come from below the
// kernel's ephemeral range, where the kernel never hands ports out by itself, chosen at random
// and never twice by one process.
package freeport

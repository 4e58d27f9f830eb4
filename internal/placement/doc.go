// Package placement is the pure logic of ECS task placement on container
// instances. It does no I/O, keeps no state and starts no goroutine: callers
// hand it a snapshot of the instances and get back a decision.
//
// So far it holds the cluster query language, the expressions that
// ListContainerInstances takes as a filter and memberOf placement constraints
// take as their expression (ParseExpr, Expr.Match). The binpack, spread and
// random strategies will live here too.
//
// It imports only the standard library.
package placement

// Package placement is the pure logic of ECS task placement on container
// instances. It does no I/O, keeps no state and starts no goroutine: callers
// hand it a snapshot of the instances and get back a decision.
//
// It holds:
//   - the cluster query language, the expressions that
//     ListContainerInstances takes as a filter and memberOf placement
//     constraints take as their expression (ParseExpr, Expr.Match);
//   - task placement: the resource filter (CPU, memory, host ports), the
//     distinctInstance and memberOf constraints and the binpack, spread and
//     random strategies, which choose an instance for each task or say why
//     none would do (Place, Fit);
//   - scale-in: which of a service's tasks to stop so that its strategies
//     still hold (SelectStop);
//   - the checks ECS makes on a request's constraints and strategies
//     (ValidateConstraints, ValidateStrategies).
//
// It imports only the standard library.
package placement

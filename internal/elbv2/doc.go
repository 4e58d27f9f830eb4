// Package elbv2 implements the Elastic Load Balancing v2 API (awsQuery,
// 2015-12-01): application and network load balancers, target groups,
// listeners, rules, target registration and health, attributes and tags.
//
// Every object is a JSON document in the state store's document table,
// namespace "elbv2". The package keeps the load-balancer data plane
// (package lb) in step with those documents: it translates them into
// listeners and target groups and binds them, after each of its own writes
// and, from Run, whenever the documents change.
//
// Besides the API it offers a Go API to the ECS service controller, which
// registers service tasks as targets: RegisterTargets, DeregisterTargets,
// TargetHealth and TargetGroupInfo.
//
// It imports awsapi, errdefs, lb and state (and go-memdb for watches); nothing
// imports it but the server wiring and the ECS controller.
package elbv2

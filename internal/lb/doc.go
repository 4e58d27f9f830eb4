// Package lb is the data plane of Berth's Elastic Load Balancing: it serves
// the listeners of application load balancers (an HTTP/1.1 and h2c reverse
// proxy with ALB's rules, actions, stickiness, X-Forwarded-* headers and
// error responses) and network load balancers (a TCP proxy), routes to the
// targets of target groups by their algorithm, checks the targets' health
// actively, and drains deregistered targets.
//
// The ELBv2 API (package elbv2) owns the configuration and drives a Plane
// through Bind, Unbind, SetTargetGroup and RemoveTargetGroup; it reads
// TargetHealth and RequestCounts back. The plane keeps no durable state:
// after a restart the API binds everything again.
//
// It imports only the standard library and internal/errdefs; nothing but
// the server wiring, the ELBv2 API and tests imports it.
package lb

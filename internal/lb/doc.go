// Package lb is the data plane of Berth's Elastic Load Balancing: it serves
// the listeners of application load balancers (a reverse proxy with ALB's
// rules, actions, stickiness, X-Forwarded-* headers and error responses)
// and network load balancers (a TCP proxy), routes to the targets of
// target groups by their algorithm, checks the targets' health actively,
// and drains deregistered targets.
//
// ALB listeners serve HTTP/1.1 on a hand-written fast path (h1.go): one
// goroutine per client connection parses, routes and relays over pooled
// keep-alive connections to targets, at about nginx's cost per request.
// What it does not handle goes, with its connection, to a net/http server
// and the httputil-style proxy in proxy.go: HTTP/2 clients (h2c with prior
// knowledge), HTTP/1.0, protocol upgrades (WebSocket), and target groups
// that speak HTTPS or HTTP/2 to their targets.
//
// The ELBv2 API (package elbv2) owns the configuration and drives a Plane
// through Bind, Unbind, SetTargetGroup and RemoveTargetGroup; it reads
// TargetHealth, RequestCounts and ListenerStats back. The plane keeps no
// durable state: after a restart the API binds everything again.
//
// It imports only the standard library and internal/errdefs; nothing but
// the server wiring, the ELBv2 API and tests imports it.
package lb

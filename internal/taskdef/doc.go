// Package taskdef is the ECS task definition: the RegisterTaskDefinition
// request and the stored definition DescribeTaskDefinition returns, with every
// member of the ECS model, plus the checks and normalisation ECS applies at
// registration.
//
// Validate answers a request the way ECS does, with the ECS error name and
// message text as an *Error. Build turns a validated request into the revision
// to store: task cpu and memory normalised ("1 vCPU" -> "1024", "2 GB" ->
// "2048"), the defaults ECS writes in (essential, port mapping protocol and host
// port, health check timings, empty lists), and the computed compatibilities
// and requiresAttributes.
//
// The package holds data and pure functions only: it may import
// internal/awsjson and the standard library, nothing else.
package taskdef

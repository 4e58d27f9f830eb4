// Package ecs implements the Amazon ECS API (awsJson 1.1,
// AmazonEC2ContainerServiceV20141113) on Berth's state store: it decodes and
// validates each request as ECS does, turns it into state commands, and
// renders the results in ECS's shapes, with ECS's error names.
//
// RunTask and StartTask place tasks themselves (package placement). For
// services it only stores what they should be, their deployments, and
// renders them; the service controller (package controller) starts and
// stops their tasks and moves their deployments along.
//
// It imports awsapi, awsjson, errdefs, placement, state and taskdef; nothing
// imports it but the server wiring.
package ecs

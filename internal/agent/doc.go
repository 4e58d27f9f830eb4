// Package agent is Berth's node agent. It registers its Docker host as a
// container instance of a cluster, watches the tasks the control plane assigns
// to it with a blocking query, runs each task in a goroutine of its own that
// owns that task's containers, and reports every state change in order until
// the server acknowledges it.
//
// It talks to the engine only through runtime.Runtime and to the server only
// through agentapi.Client; it keeps its identity and report sequence in a
// local bbolt file so that a restart resumes where it left off.
package agent

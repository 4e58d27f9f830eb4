// Package logs implements the Amazon CloudWatch Logs API (awsJson 1.1,
// Logs_20140328): log groups and streams, PutLogEvents with AWS's batch
// rules, GetLogEvents, FilterLogEvents with filter patterns (package
// pattern), retention policies and tags. It also takes container output
// from Berth's agents through Ingest, which applies the same rules.
//
// Events are kept on local disk by package store, not in the raft state
// store; Run enforces retention policies in the background. Groups belong
// to the caller's account and region.
//
// It imports awsapi, errdefs and its own subpackages; nothing imports it
// but the server wiring (and the agent's log shipping, through Ingest).
package logs

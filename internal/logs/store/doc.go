// Package store keeps CloudWatch Logs data on local disk: log groups, their
// streams and the streams' events, apart from the raft state store (logs are
// too many and too large to go through consensus).
//
// Layout under Config.Dir:
//
//	groups/<group id>/group.json                    group metadata
//	groups/<group id>/streams/<stream id>/stream.json
//	groups/<group id>/streams/<stream id>/<first seq>.seg   segments
//	groups/<group id>/streams/<stream id>/<first seq>.idx   their time indexes
//	trash/                                          deletions in progress
//
// Metadata files are replaced atomically (write a temporary file, fsync,
// rename, fsync the directory). A stream's events go to append-only segment
// files, one record per ingested batch: a length, a CRC-32C and the batch's
// events, so a batch is all there or not at all. Append returns once the
// record is fsync'd; reopening cuts a torn or corrupt tail at the last good
// record. Each segment has a small index of spans (byte range, sequence
// range, oldest and newest timestamp, latest ingestion) so that time-range
// reads skip what cannot match; the index of the segment being written is
// kept in memory and checkpointed to disk now and then, and rebuilt from the
// data when a crash left it behind.
//
// Events are read from disk on demand; memory holds metadata, the spans of
// the segments being written, and a bounded cache of open files.
//
// It imports errdefs and the standard library.
package store

// Testapp is the program every Berth test image runs: a small static binary
// copied into an image FROM scratch (see testimage). Its flags make it behave
// like the workloads Berth must handle: exit with a code, ignore SIGTERM,
// drain slowly, allocate memory until the OOM killer strikes, serve HTTP,
// turn unhealthy, act as its own health-check client.
//
// runtime/fake interprets the same flags (fake.ParseTestapp), so a test can
// run the same container spec on the fake and on Docker.
//
// Flags:
//
//	-listen ADDR          serve HTTP: / -> "ok <hostname>", /env, /health,
//	                      /sleep?d=D, /metadata?path=P (relays
//	                      $ECS_CONTAINER_METADATA_URI_V4 + P)
//	-print-env            print KEY=value lines of the environment at start
//	-print N              print "line 1" ... "line N" at start
//	-sleep D              exit after D (with -exit's code, else 0)
//	-exit N               exit with N (after -sleep if given, else at once)
//	-ignore-sigterm       ignore SIGTERM (only SIGKILL ends it)
//	-term-exit N          exit code on SIGTERM (default 143)
//	-term-delay D         keep running (and serving) D after SIGTERM
//	-alloc-mib N          allocate and touch N MiB at start (1 MiB per 5 ms)
//	-unhealthy-after D    /health answers 500 after D
//	-check URL            health-check client: exit 0 if URL answers 200 in 2 s
//	-write PATH=CONTENT   write a file at start (repeatable)
//
// As PID 1 of a container it handles SIGTERM and SIGINT explicitly: the
// kernel does not apply default signal actions to PID 1, and a Go program
// without a handler then exits 2 on SIGTERM (measured on Docker 20.10), not
// 143. A SIGTERM that arrives before the handler is installed (within a few
// ms of start) still gives 2; tests wait until testapp is ready. It writes
// "testapp: ready" to stderr once its handlers, files and listener are set.
// It uses the standard library only.
package main

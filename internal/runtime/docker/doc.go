// Package docker implements runtime.Runtime on a Docker Engine through the
// official Moby client (github.com/moby/moby/client), negotiating the API
// version (Docker 20.10 speaks 1.41).
//
// It maps a runtime.ContainerSpec onto Docker's create request, Docker's
// inspect, event and stats answers back onto runtime types, and engine
// errors onto errdefs classes; nothing else in Berth imports the Moby client
// except test helpers (internal/testapp/testimage).
package docker

package agent

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/berthhq/berth/internal/agentapi"
	"github.com/berthhq/berth/internal/runtime"
)

// ecrHost matches the registry host of an ECR image reference:
// <account>.dkr.ecr.<region>.amazonaws.com (or .com.cn).
var ecrHost = regexp.MustCompile(`^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// imageSource decides where an image is pulled from. Images of the server's
// registry, and ECR references of the task's account (task definitions
// written for AWS), are pulled from the server's registry with a token
// minted for the task's account; anything else is pulled as named.
func (r *runner) imageSource(ctx context.Context, image string) (ref string, auth *runtime.RegistryAuth, reason string) {
	host, rest, ok := strings.Cut(image, "/")
	if !ok || r.a.registryHost == "" {
		return image, nil, ""
	}
	region := r.current().Region
	switch m := ecrHost.FindStringSubmatch(host); {
	case host == r.a.registryHost:
	case m != nil:
		if t := r.current(); m[1] != t.Account {
			return "", nil, fmt.Sprintf("CannotPullContainerError: pull image %s: the image belongs to account %s; Berth's registry serves a task the images of its own account (%s)", image, m[1], t.Account)
		}
		region = m[2]
		image = r.a.registryHost + "/" + rest
	default:
		return image, nil, ""
	}
	resp, err := r.a.client.RegistryAuth(ctx, agentapi.RegistryAuthRequest{TaskARN: r.state.TaskARN, Region: region})
	if err != nil {
		var se *agentapi.StatusError
		msg := err.Error()
		if errors.As(err, &se) {
			msg = se.Message
		}
		return "", nil, fmt.Sprintf("CannotPullContainerError: pull image %s: no registry credentials: %s", image, msg)
	}
	return image, &runtime.RegistryAuth{Username: resp.Username, Password: resp.Password, ServerAddress: resp.Host}, ""
}

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/berthhq/berth/internal/agentapi"
	"github.com/berthhq/berth/internal/runtime"
	"github.com/berthhq/berth/internal/taskdef"
)

// LabelSecretsAsFiles in a container's dockerLabels asks for its secrets as
// files /run/secrets/<name> on a tmpfs instead of environment variables,
// which `docker inspect` shows in plain text.
const LabelSecretsAsFiles = "berth.secrets-as-files"

// secretsTarget is where secret files appear inside a container.
const secretsTarget = "/run/secrets"

var secretFileName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`)

// resolveSecrets fetches every secret the task definition references, once,
// at task start. The reason is ECS's ResourceInitializationError naming the
// reference that failed.
func (r *runner) resolveSecrets(ctx context.Context) (map[string]string, string) {
	var refs []string
	seen := map[string]bool{}
	add := func(ref string) {
		if ref != "" && !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
	}
	for _, c := range r.td.ContainerDefinitions {
		for _, s := range c.Secrets {
			add(s.ValueFrom)
		}
		if lc := c.LogConfiguration; lc != nil {
			for _, s := range lc.SecretOptions {
				add(s.ValueFrom)
			}
		}
		if rc := c.RepositoryCredentials; rc != nil {
			add(rc.CredentialsParameter)
		}
	}
	if len(refs) == 0 {
		return nil, ""
	}
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		resp, err := r.a.client.Secrets(ctx, agentapi.SecretsRequest{TaskARN: r.state.TaskARN, Refs: refs})
		if err == nil {
			return resp.Values, ""
		}
		var se *agentapi.StatusError
		if errors.As(err, &se) && se.Status < 500 || attempt == 5 || ctx.Err() != nil {
			msg := err.Error()
			if se != nil {
				msg = se.Message
			}
			return nil, "ResourceInitializationError: unable to pull secrets or registry auth: " + msg
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// registryAuth reads a container's repositoryCredentials secret: JSON with
// username and password.
func registryAuth(c *taskdef.ContainerDefinition, values map[string]string) (*runtime.RegistryAuth, string) {
	rc := c.RepositoryCredentials
	if rc == nil || rc.CredentialsParameter == "" {
		return nil, ""
	}
	var cred struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(values[rc.CredentialsParameter]), &cred); err != nil || cred.Username == "" {
		return nil, fmt.Sprintf("ResourceInitializationError: unable to pull secrets or registry auth: the secret %s is not JSON with a username and a password", rc.CredentialsParameter)
	}
	return &runtime.RegistryAuth{Username: cred.Username, Password: cred.Password}, ""
}

// applySecrets hands a container its secrets: as environment variables, or
// as read-only files on a tmpfs bind-mounted at /run/secrets when the
// container asks for files. Log configuration secretOptions become log
// options.
func (r *runner) applySecrets(c *ctr, values map[string]string) string {
	def := c.def
	if lc := def.LogConfiguration; lc != nil && len(lc.SecretOptions) > 0 && c.spec.LogDriver != "json-file" {
		if c.spec.LogOptions == nil {
			c.spec.LogOptions = map[string]string{}
		}
		for _, s := range lc.SecretOptions {
			c.spec.LogOptions[s.Name] = values[s.ValueFrom]
		}
	}
	if len(def.Secrets) == 0 {
		return ""
	}
	if def.DockerLabels[LabelSecretsAsFiles] != "true" {
		for _, s := range def.Secrets {
			c.spec.Env = append(c.spec.Env, s.Name+"="+values[s.ValueFrom])
		}
		return ""
	}
	dir, err := r.a.secretDir(r.state.TaskARN, def.Name)
	if err != nil {
		return "ResourceInitializationError: unable to prepare secret files: " + err.Error()
	}
	for _, s := range def.Secrets {
		if !secretFileName.MatchString(s.Name) || s.Name == "." || s.Name == ".." {
			return fmt.Sprintf("ResourceInitializationError: secret name %q cannot be a file name", s.Name)
		}
		if err := os.WriteFile(filepath.Join(dir, s.Name), []byte(values[s.ValueFrom]), 0o444); err != nil {
			return "ResourceInitializationError: unable to write secret files: " + err.Error()
		}
	}
	c.spec.Mounts = append(c.spec.Mounts, runtime.Mount{Type: runtime.MountBind, Source: dir, Target: secretsTarget, ReadOnly: true})
	return ""
}

// secretDir is a fresh directory on a tmpfs for one container's secret
// files: under /dev/shm (memory, never disk) when the host has it.
func (a *Agent) secretDir(taskARN, container string) (string, error) {
	root := a.cfg.SecretsDir
	dir := filepath.Join(root, taskIDOf(taskARN), container)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	// Containers run as any user: the files are world-readable inside a
	// directory only root can list on the host side.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// removeSecretFiles deletes a task's secret files.
func (a *Agent) removeSecretFiles(taskARN string) {
	if err := os.RemoveAll(filepath.Join(a.cfg.SecretsDir, taskIDOf(taskARN))); err != nil {
		a.log.Warn("remove secret files", "task_arn", taskARN, "err", err)
	}
}

func taskIDOf(taskARN string) string { return filepath.Base(taskARN) }

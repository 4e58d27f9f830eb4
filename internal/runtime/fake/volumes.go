package fake

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
)

type volume struct {
	labels map[string]string
}

var validVolumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// CreateVolume creates a named volume; an existing one is left as it is.
func (f *Fake) CreateVolume(ctx context.Context, name string, labels map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return err
	}
	if !validVolumeName.MatchString(name) {
		return fmt.Errorf("create volume %q: includes invalid characters for a local volume name: %w", name, errdefs.ErrInvalidArgument)
	}
	if _, ok := f.volumes[name]; !ok {
		f.volumes[name] = &volume{labels: cloneLabels(labels)}
	}
	return nil
}

// RemoveVolume removes a volume no container uses.
func (f *Fake) RemoveVolume(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return err
	}
	if _, ok := f.volumes[name]; !ok {
		return fmt.Errorf("no such volume: %s: %w", name, errdefs.ErrNotFound)
	}
	var users []string
	for _, c := range f.sortedContainers() {
		for _, m := range c.spec.Mounts {
			if m.Type == runtime.MountVolume && m.Source == name {
				users = append(users, c.id)
			}
		}
	}
	if len(users) > 0 {
		return fmt.Errorf("remove %s: volume is in use - %q: %w", name, users, errdefs.ErrConflict)
	}
	delete(f.volumes, name)
	return nil
}

// ListVolumes lists the names of volumes carrying every label in labels,
// sorted.
func (f *Fake) ListVolumes(ctx context.Context, labels map[string]string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return nil, err
	}
	var names []string
	for name, v := range f.volumes {
		if hasLabels(v.labels, labels) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

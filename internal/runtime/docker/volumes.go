package docker

import (
	"context"
	"slices"

	"github.com/moby/moby/client"
)

// CreateVolume creates a named local volume; Docker returns an existing one
// unchanged.
func (d *Docker) CreateVolume(ctx context.Context, name string, labels map[string]string) error {
	_, err := d.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Driver: "local", Labels: labels})
	return classify(err, opOther, "create volume %q", name)
}

// RemoveVolume removes a named volume; one in use is ErrConflict.
func (d *Docker) RemoveVolume(ctx context.Context, name string) error {
	_, err := d.cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{})
	return classify(err, opOther, "remove volume %q", name)
}

// ListVolumes lists the names of volumes carrying every label in labels.
func (d *Docker) ListVolumes(ctx context.Context, labels map[string]string) ([]string, error) {
	res, err := d.cli.VolumeList(ctx, client.VolumeListOptions{Filters: labelFilters(labels)})
	if err != nil {
		return nil, classify(err, opOther, "list volumes")
	}
	names := make([]string, 0, len(res.Items))
	for _, v := range res.Items {
		names = append(names, v.Name)
	}
	slices.Sort(names)
	return names, nil
}

package container

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// EnsureNetwork creates the network name unless it exists, and returns its
// ID. An existing network with another driver is an error (replacing it
// would cut off its containers).
func (e *Engine) EnsureNetwork(ctx context.Context, name, driver string, labels map[string]string) (string, error) {
	cur, err := e.cli.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
	if err == nil {
		if driver != "" && cur.Network.Driver != "" && cur.Network.Driver != driver {
			return "", fmt.Errorf("network %s exists with driver %s, not %s; remove it first", name, cur.Network.Driver, driver)
		}
		return cur.Network.ID, nil
	}
	if !IsNotFound(err) {
		return "", fmt.Errorf("network %s: inspect: %w", name, err)
	}
	res, err := e.cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: driver, Labels: managedLabels(labels)})
	if err != nil {
		return "", fmt.Errorf("network %s: create: %w", name, err)
	}
	return res.ID, nil
}

// RemoveNetwork removes the network name; a missing one is fine.
func (e *Engine) RemoveNetwork(ctx context.Context, name string) error {
	if _, err := e.cli.NetworkRemove(ctx, name, client.NetworkRemoveOptions{}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("network %s: remove: %w", name, err)
	}
	return nil
}

// EnsureVolume creates the volume name unless it exists. An existing volume
// with another driver is an error.
func (e *Engine) EnsureVolume(ctx context.Context, name, driver string, labels map[string]string) error {
	cur, err := e.cli.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	if err == nil {
		if driver != "" && cur.Volume.Driver != "" && cur.Volume.Driver != driver {
			return fmt.Errorf("volume %s exists with driver %s, not %s; remove it first", name, cur.Volume.Driver, driver)
		}
		return nil
	}
	if !IsNotFound(err) {
		return fmt.Errorf("volume %s: inspect: %w", name, err)
	}
	if _, err := e.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Driver: driver, Labels: managedLabels(labels)}); err != nil {
		return fmt.Errorf("volume %s: create: %w", name, err)
	}
	return nil
}

// RemoveVolume removes the volume name; a missing one is fine. A volume in
// use is an error with the engine's message.
func (e *Engine) RemoveVolume(ctx context.Context, name string) error {
	if _, err := e.cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("volume %s: remove: %w", name, err)
	}
	return nil
}

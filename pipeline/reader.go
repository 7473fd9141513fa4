package pipeline

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres"
)

// Reader opens the sandboxed reader of the project's loaded data on the
// configured destination: the DuckDB file, the Parquet folder or the
// PostgreSQL schema (password resolved as for loads, never shown). When
// the pipeline file names no destination and the default holds no data but
// another local kind's default path does (a `load --destination parquet`),
// that is read.
func (p *Project) Reader(ctx context.Context) (dataset.Reader, error) {
	t := p.Config.DestinationType()
	if p.Config.Destination.Type == "" && p.Config.Destination.Path == "" {
		t = p.foundLocalKind(t)
	}
	drv, ok := destinations.Lookup(t)
	if !ok {
		return nil, fmt.Errorf("destination %q cannot be read: use %s", t, destinations.Names())
	}
	c, err := p.openConfig(drv)
	if err != nil {
		return nil, err
	}
	return drv.OpenReader(ctx, c)
}

// OpenTarget opens the reader a query worker runs a query on: a DuckDB
// file or a Parquet folder (dataset.Isolatable readers are local).
func OpenTarget(ctx context.Context, t dataset.Target, h *dataset.Handles) (dataset.Reader, error) {
	drv, ok := destinations.Lookup(t.Kind)
	if !ok || !drv.Local {
		return nil, fmt.Errorf("query worker: unknown target %q", t.Kind)
	}
	return drv.OpenReader(ctx, destination.Config{Dataset: t.Dataset, Path: t.Path, Handles: h})
}

// PostgresLocation is the PostgreSQL DSN without its password, or why it
// cannot be made from the settings.
func (p *Project) PostgresLocation() (string, error) {
	return postgres.Driver.Location(p.destinationConfig())
}

// foundLocalKind is kind when its default path holds the dataset, else the
// first local kind whose default path does, else kind.
func (p *Project) foundLocalKind(kind string) string {
	dataset := p.Config.Dataset()
	if drv := localDriver(kind); drv.Path.Holds(filepath.Join(p.Dir, drv.Path.Default), dataset) {
		return kind
	}
	for _, drv := range destinations.Drivers() {
		if drv.Local && drv.Path.Holds(filepath.Join(p.Dir, drv.Path.Default), dataset) {
			return drv.Name
		}
	}
	return kind
}

package tools

import (
	"context"
	"errors"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// DescribeTableIn is describe_table's input.
type DescribeTableIn struct {
	Table string `json:"table" jsonschema_description:"Table name such as builds or builds__annotations (the dataset schema prefix is optional), or a CI view such as codefresh_data_ci.builds"`
}

// DescribeTableOut is describe_table's result.
type DescribeTableOut struct {
	*dataset.TableInfo
	Next string `json:"next"`
}

func describeTable(d *Deps) Tool {
	return newTool(d, "describe_table", "Describe a table",
		"Columns (name, type, nullability, primary key), row count, and how the table joins its parent, root and child tables, as SQL ON clauses. "+
			"Nested lists are child tables parent__child joined on _dlt_parent_id = parent._dlt_id.",
		Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false},
		func(ctx context.Context, in DescribeTableIn) (DescribeTableOut, error) {
			if in.Table == "" {
				return DescribeTableOut{}, errorf("pipeline_info lists the tables", "table is required")
			}
			r, _, err := d.reader(ctx)
			if err != nil {
				return DescribeTableOut{}, err
			}
			defer r.Close()
			ti, err := r.Describe(ctx, in.Table)
			var nf *dataset.TableNotFoundError
			switch {
			case errors.As(err, &nf):
				return DescribeTableOut{}, withNext(err, "use one of the tables listed; pipeline_info shows them with row counts")
			case errors.Is(err, dataset.ErrNoData):
				return DescribeTableOut{}, withNext(err, "load data first with start_load")
			case err != nil:
				return DescribeTableOut{}, err
			}
			return DescribeTableOut{TableInfo: ti, Next: "query it as " + ti.Dataset + "." + ti.Name}, nil
		})
}

// SchemaOut is the codefresh://schema resource: every data table with its columns.
type SchemaOut struct {
	Dataset string        `json:"dataset"`
	Tables  []SchemaTable `json:"tables"`
	Note    string        `json:"note,omitempty"`
}

// SchemaTable is one table: columns map name to type.
type SchemaTable struct {
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	Rows   int64  `json:"rows"`
	// View is a CI view (Name qualified by its schema); its columns read "TYPE: meaning".
	View        bool              `json:"view,omitempty"`
	Description string            `json:"description,omitempty"`
	Columns     map[string]string `json:"columns"`
}

// Schema describes every data table of the loaded dataset.
func (d *Deps) Schema(ctx context.Context) (SchemaOut, error) {
	r, cfg, err := d.reader(ctx)
	if err != nil {
		return SchemaOut{}, err
	}
	defer r.Close()
	out := SchemaOut{Dataset: cfg.Dataset(), Tables: []SchemaTable{}}
	info, err := r.Info(ctx)
	if errors.Is(err, dataset.ErrNoData) {
		out.Note = "nothing loaded yet"
		return out, nil
	}
	if err != nil {
		return SchemaOut{}, err
	}
	for _, t := range info.Tables {
		if t.System {
			continue
		}
		ti, err := r.Describe(ctx, t.Name)
		if err != nil {
			return SchemaOut{}, err
		}
		st := SchemaTable{Name: t.Name, Parent: t.Parent, Rows: ti.Rows, Columns: map[string]string{}}
		for _, c := range ti.Columns {
			st.Columns[c.Name] = c.Type
		}
		out.Tables = append(out.Tables, st)
	}
	for _, v := range info.Views {
		ti, err := r.Describe(ctx, v.Name)
		if err != nil {
			return SchemaOut{}, err
		}
		st := SchemaTable{Name: v.Name, View: true, Description: ti.Description, Rows: ti.Rows, Columns: map[string]string{}}
		for _, c := range ti.Columns {
			st.Columns[c.Name] = strings.TrimSuffix(c.Type+": "+c.Doc, ": ")
		}
		out.Tables = append(out.Tables, st)
	}
	return out, nil
}

package normalize

// ensureSystem resolves (or creates) the system columns of ts.
func (n *Normalizer) ensureSystem(ts *tstate, isRoot bool) error {
	need := childSys
	if isRoot {
		need = rootSys
	}
	for _, s := range need {
		if ts.sys[s] >= 0 {
			continue
		}
		if i, ok := ts.t.columnIndex(sysNames[s]); ok {
			ts.sys[s] = i
			continue
		}
		if !n.slow {
			return errSlow
		}
		c := systemColumn(sysNames[s])
		ts.sys[s] = n.addColumn(ts, c)
	}
	return nil
}

// childState resolves (or, on the slow pass, creates) the child table
// that lists under nd go to.
func (n *Normalizer) childState(ts *tstate, nd *node) (*tstate, error) {
	if nd.child != nil {
		return nd.child, nil
	}
	path := ts.path + PathSeparator + nd.path
	name := shortenFragments(path, n.maxLen)
	if alias(ts, "\x00"+name, nd) && !n.slow {
		return nil, errSlow
	}
	t := n.schema.table(name)
	if t == nil {
		if !n.slow {
			return nil, errSlow
		}
		t = &Table{Name: name, Parent: ts.t.Name, Resource: ts.t.Resource, WriteDisposition: ts.t.WriteDisposition}
		n.schema.addTable(t)
		n.changed = true
	}
	nd.child = n.state(t, path)
	return nd.child, nil
}

func (n *Normalizer) addColumn(ts *tstate, c *Column) int {
	i := n.schema.addColumn(ts.t, c)
	ts.sync()
	n.newCols = append(n.newCols, ts.t.Name+"."+c.Name)
	n.changed = true
	return i
}

// typeOf is the type code of column i.
func (ts *tstate) typeOf(i int) vtype {
	if i >= len(ts.types) { // columns added since (by another normalizer)
		ts.sync()
	}
	return ts.types[i]
}

// sync extends the column type codes to the table's current columns.
func (ts *tstate) sync() {
	for len(ts.types) < len(ts.t.Columns) {
		code, ok := typeCode(ts.t.Columns[len(ts.types)].DataType)
		if !ok {
			code = vText // a type this package does not make: treat values as text
		}
		ts.types = append(ts.types, code)
	}
}

package normalize

import "fmt"

// finishRow writes the pairs collected since ps into a new row with its
// system columns, then normalizes the lists collected since ls into child
// rows. Ids travel boxed (strings in an any) so each is boxed only once.
func (n *Normalizer) finishRow(ts *tstate, ps, ls, lvl int, parentID any, idx int, rootID any) error {
	if n.slow {
		n.dedupe(ts, ps, ls)
	}
	ts.sync()
	row := n.alloc(len(ts.t.Columns))
	for _, p := range n.pairs[ps:] {
		v := p.v
		if p.fromTape {
			v = n.tape.Value(p.at) // boxed only now, for the row
		}
		if err := n.put(ts, &row, p.nd, v); err != nil {
			return err
		}
	}
	n.pairs = n.pairs[:ps]
	isRoot := ts.t.Parent == ""
	if err := n.ensureSystem(ts, isRoot); err != nil {
		return err
	}
	if len(row) < len(ts.t.Columns) {
		row = grow(row, len(ts.t.Columns))
	}

	// A _dlt_id in the source is kept, as dlt does.
	var id any
	if s, _ := row[ts.sys[sysID]].(string); s != "" {
		id = row[ts.sys[sysID]]
	}
	if isRoot {
		if id == nil {
			id = n.rootID
		}
		rootID = id
	} else {
		if id == nil {
			id = n.childID(parentID.(string), ts.t.Name, idx)
		}
		row[ts.sys[sysParentID]] = parentID
		row[ts.sys[sysListIdx]] = int64(idx)
		row[ts.sys[sysRootID]] = rootID
	}
	row[ts.sys[sysLoadID]] = n.loadID
	row[ts.sys[sysID]] = id
	n.rows = append(n.rows, pendingRow{ts, row})

	end := len(n.lists)
	for i := ls; i < end; i++ {
		l := n.lists[i]
		if l.fromTape {
			if err := n.childRowsTape(ts, l, lvl, id, rootID); err != nil {
				return err
			}
			continue
		}
		if len(l.items) == 0 {
			continue
		}
		child, err := n.childState(ts, l.nd)
		if err != nil {
			return err
		}
		for j, item := range l.items {
			switch x := item.(type) {
			case map[string]any:
				err = n.objectRow(child, x, lvl-1, id, j, rootID)
			case []any:
				err = n.listRow(child, x, lvl-2, id, j, rootID)
			default:
				err = n.scalarRow(child, item, id, j, rootID)
			}
			if err != nil {
				return err
			}
		}
	}
	n.lists = n.lists[:ls]
	return nil
}

// dedupe keeps one value per column name and one list per child table:
// the later one, at the position of the first (a Python dict's behaviour).
func (n *Normalizer) dedupe(ts *tstate, ps, ls int) {
	pairs := n.pairs[ps:]
	seen := make(map[string]int, len(pairs))
	k := 0
	for _, p := range pairs {
		if j, ok := seen[p.nd.name]; ok {
			pairs[j].v = p.v
			continue
		}
		seen[p.nd.name] = k
		pairs[k] = p
		k++
	}
	n.pairs = n.pairs[:ps+k]

	lists := n.lists[ls:]
	clear(seen)
	k = 0
	for _, l := range lists {
		name := shortenFragments(ts.path+PathSeparator+l.nd.path, n.maxLen)
		if j, ok := seen[name]; ok {
			lists[j].items = l.items
			continue
		}
		seen[name] = k
		lists[k] = l
		k++
	}
	n.lists = n.lists[:ls+k]
}

// put writes one value into row, coercing it into its column's type or
// into a variant column as dlt's coerce_row does.
func (n *Normalizer) put(ts *tstate, row *[]any, nd *node, v any) error {
	if v == nil {
		return nil // NULL: no column is made for it
	}
	code, val, err := classify(v)
	if err != nil {
		return fmt.Errorf("%s.%s: %w", ts.t.Name, nd.name, err)
	}
	col := n.column(ts, nd)
	if col < 0 {
		if !n.slow {
			return errSlow
		}
		col = n.addColumn(ts, &Column{Name: nd.name, DataType: typeNames[detectType(code, val)], Nullable: true})
		nd.col = col
	}
	ct := ts.typeOf(col)
	if ct == code && code <= vBool { // same type, nothing to convert
		setCol(ts, row, col, val)
		return nil
	}
	if out, ok := coerce(ct, code, val); ok {
		setCol(ts, row, col, out)
		return nil
	}
	vcol, err := n.variant(ts, nd, code, val)
	if err != nil {
		return err
	}
	out, ok := coerce(ts.typeOf(vcol), code, val)
	if !ok {
		// dlt raises CannotCoerceColumnException here too.
		return fmt.Errorf("%s.%s: cannot coerce a %s value into its variant column %s of type %s",
			ts.t.Name, nd.name, typeNames[code], ts.t.Columns[vcol].Name, typeNames[ts.typeOf(vcol)])
	}
	setCol(ts, row, vcol, out)
	return nil
}

func setCol(ts *tstate, row *[]any, col int, v any) {
	if col >= len(*row) {
		*row = grow(*row, len(ts.t.Columns))
	}
	(*row)[col] = v
}

func grow(row []any, n int) []any {
	out := make([]any, n)
	copy(out, row)
	return out
}

// column resolves nd's column position, -1 if the column does not exist.
func (n *Normalizer) column(ts *tstate, nd *node) int {
	if nd.col < 0 {
		if i, ok := ts.t.columnIndex(nd.name); ok {
			nd.col = i
		}
	}
	return nd.col
}

// isJSONColumn is dlt's is_nested_type for a column that exists: a json
// column keeps nested values whole.
func (n *Normalizer) isJSONColumn(ts *tstate, nd *node) bool {
	col := n.column(ts, nd)
	return col >= 0 && ts.typeOf(col) == vJSON
}

// variant resolves (or, on the slow pass, creates) the variant column
// <col>__v_<type> for values of type code that nd's column cannot take.
func (n *Normalizer) variant(ts *tstate, nd *node, code vtype, val any) (int, error) {
	if i := nd.vcols[code]; i > 0 {
		return i - 1, nil
	}
	name := shortenFragments(nd.name+PathSeparator+"v_"+string(typeNames[code]), n.maxLen)
	i, ok := ts.t.columnIndex(name)
	if !ok {
		if !n.slow {
			return -1, errSlow
		}
		i = n.addColumn(ts, &Column{Name: name, DataType: typeNames[detectType(code, val)], Nullable: true, VariantOf: nd.name})
	}
	nd.vcols[code] = i + 1
	return i, nil
}

// alloc returns a zeroed row of k values from the record's arena.
func (n *Normalizer) alloc(k int) []any {
	if n.used+k > len(n.arena) {
		// Rows already handed out keep the old arena alive until the
		// record is written.
		n.arena = make([]any, max(2*len(n.arena), k, 1024))
		n.used = 0
	}
	row := n.arena[n.used : n.used+k : n.used+k]
	n.used += k
	return row
}

func (n *Normalizer) emit(sink Sink) error {
	for _, r := range n.rows {
		row := r.vals
		if cols := len(r.ts.t.Columns); len(row) < cols {
			// The record added columns after this row was made.
			n.pad = append(n.pad[:0], row...)
			for len(n.pad) < cols {
				n.pad = append(n.pad, nil)
			}
			row = n.pad
		}
		if err := sink.Write(r.ts.t, row); err != nil {
			return fmt.Errorf("normalize: write %s: %w", r.ts.t.Name, err)
		}
	}
	return nil
}

func (n *Normalizer) reset() {
	clear(n.arena[:n.used])
	n.used = 0
	clear(n.rows)
	n.rows = n.rows[:0]
	n.stack = n.stack[:0]
	n.pairs = n.pairs[:0]
	n.lists = n.lists[:0]
}

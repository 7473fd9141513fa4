package normalize

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
)

// childID is dlt's deterministic id of a child row: base64 of 10 bytes of
// SHAKE128 over "<parent id>_<child table>_<list index>".
func (n *Normalizer) childID(parentID, table string, idx int) string {
	b := append(n.hbuf[:0], parentID...)
	b = append(b, '_')
	b = append(b, table...)
	b = append(b, '_')
	b = strconv.AppendInt(b, int64(idx), 10)
	n.hbuf = b
	n.shake.Reset()
	n.shake.Write(b)
	var d [10]byte
	n.shake.Read(d[:])
	var out [14]byte
	base64.RawStdEncoding.Encode(out[:], d[:])
	return string(out[:])
}

// idSource makes dlt's random root row ids (uniq_id_base64(10)): 10
// random bytes, base64 without padding, 14 characters. Randomness is read
// in batches.
type idSource struct {
	buf  [640]byte
	pos  int
	fill func([]byte) // nil: crypto/rand; tests set a repeatable one
}

func (g *idSource) next() string {
	if g.pos == 0 || g.pos+10 > len(g.buf) {
		if g.fill != nil {
			g.fill(g.buf[:])
		} else {
			rand.Read(g.buf[:])
		}
		g.pos = 0
	}
	var out [14]byte
	base64.RawStdEncoding.Encode(out[:], g.buf[g.pos:g.pos+10])
	g.pos += 10
	return string(out[:])
}

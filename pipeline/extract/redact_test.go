package extract

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// TestRedactTapeAsRecord: redacting a record on its tape gives the record
// redactRecord gives from its map, the key out of values, nested values,
// list elements and member names, and nothing else changed.
func TestRedactTapeAsRecord(t *testing.T) {
	const key = "cfk-CANARY-91b2d7e0c4"
	red := secrets.NewRedactor(key)
	body := strings.ReplaceAll(`[
	 {"id":"1","msg":"token KEY here","n":12,"KEYname":"v","nested":{"a":["x","KEY",{"KEY":"KEY"}],"b":null},"ok":true},
	 {"id":"2","escaped":"\u0063fk-CANARY-91b2d7e0c4","url":"https://x/?k=KEY"},
	 "KEY",
	 {"id":"3","clean":"nothing to see"}
	]`, "KEY", key)
	d := jsonpage.New(nil, []string{"$"})
	tape, err := d.DecodeTape([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	nodes, _ := d.RecordNodes("$")
	redactTape(red, tape, nodes)
	var recs []any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&recs); err != nil {
		t.Fatal(err)
	}
	for i, at := range nodes {
		want := map[string]any{"value": recs[i]}
		if m, ok := recs[i].(map[string]any); ok {
			want = m
		}
		redactRecord(red, want)
		got, ok := tape.Value(at).(map[string]any)
		if !ok {
			got = map[string]any{"value": tape.Value(at)}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("record %d:\ntape %v\nmap  %v", i, got, want)
		}
		if strings.Contains(fmtAny(got), key) || strings.Contains(fmtAny(got), key[1:]) {
			t.Errorf("record %d keeps the key: %v", i, got)
		}
	}
	if n := strings.Count(fmtAny(tape.Value(0)), secrets.Redacted); n != 8 {
		t.Errorf("%d redactions, want 8: %v", n, tape.Value(0))
	}
}

func fmtAny(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

package cfsim

import (
	"fmt"
	"strings"
	"testing"
)

// pipelineIDs lists the metadata.id of a /pipelines page.
func pipelineIDs(t *testing.T, s *Server, offset, limit int) []string {
	t.Helper()
	docs, _ := at(getJSON(t, s, fmt.Sprintf("/pipelines?offset=%d&limit=%d", offset, limit)), "docs").([]any)
	var ids []string
	for _, d := range docs {
		ids = append(ids, at(d, "metadata", "id").(string))
	}
	return ids
}

func TestInsertFrontShiftsLaterPages(t *testing.T) {
	plain := newTestServer(t, Config{Seed: 3, Pipelines: 12})
	want := pipelineIDs(t, plain, 0, 12)
	shifted := newTestServer(t, Config{Seed: 3, Pipelines: 12, Deviations: Deviations{InsertFront: "/pipelines"}})
	var got []string
	for off := 0; off < 12; off += 5 {
		got = append(got, pipelineIDs(t, shifted, off, 5)...)
	}
	// Page 2 starts with page 1's last record; the last record comes on page 3.
	wantSeq := append(append(append([]string{}, want[:5]...), want[4:9]...), want[9:]...)
	if strings.Join(got, ",") != strings.Join(wantSeq, ",") {
		t.Fatalf("listing = %v\nwant      %v", got, wantSeq)
	}
	if d, err := ParseDeviations("insert-front=/pipelines"); err != nil || d.InsertFront != "/pipelines" {
		t.Fatalf("ParseDeviations = %+v, %v", d, err)
	}
}

func TestEchoKeySpellings(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3, Pipelines: 2, Deviations: Deviations{EchoKey: "/pipelines"}})
	_, body, _ := do(t, s, "/pipelines")
	for _, want := range []string{
		`"echo_plain":"` + canaryKey + `"`,
		`"echo_escaped":"\u0063\u0066\u006b\u002d`,
		`"echo_mixed":"c\u0066k\u002dC\u0041`,
		`"echo_nested":"{\"token\":\"\\u0063\\u0066`,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("body lacks %s:\n%.600s", want, body)
		}
	}
	docs, _ := at(getJSON(t, s, "/pipelines"), "docs").([]any)
	if len(docs) != 2 || at(docs[1], "echo_escaped") != canaryKey || at(docs[1], "echo_mixed") != canaryKey {
		t.Fatalf("decoded echoes differ from the key: %v", docs)
	}
}

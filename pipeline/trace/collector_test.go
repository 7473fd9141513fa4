package trace_test

import (
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

func TestCollectorBlamesTheFailedAttempt(t *testing.T) {
	c := trace.NewCollector("1700000000.000001", "p", time.Now(), trace.Options{}, []string{"builds", "images", "user"})
	c.Observe(codefresh.Exchange{Resource: "builds", Method: "GET", Path: "/workflow", Attempt: 1, Status: 503, Retry: "server"})
	c.Observe(codefresh.Exchange{Resource: "builds", Method: "GET", Path: "/workflow", Attempt: 2, Status: 200})
	c.Observe(codefresh.Exchange{Resource: "images", Method: "GET", Path: "/images", Attempt: 1, Status: 200})
	c.Finish("builds", "failed", 1, 10, &trace.Error{Message: "m"}, true)
	c.Finish("images", "failed", 0, 0, &trace.Error{Message: "m"}, true)
	c.Deviate(codefresh.Deviation{Resource: "builds", Kind: "k"})
	c.Deviate(codefresh.Deviation{Resource: "builds", Kind: "k"})
	tr := c.Done("failed", nil, "")

	b, i, u := tr.Resources[0], tr.Resources[1], tr.Resources[2]
	if b.Requests != 2 || b.Retries != 1 || b.Statuses["503"] != 1 || b.Error.Request == nil || b.Error.Request.Status != 503 {
		t.Errorf("builds: %+v, error request %+v", b, b.Error.Request)
	}
	if i.Error.Request == nil || i.Error.Request.Path != "/images" {
		t.Errorf("images: every attempt succeeded, so the last one is to blame: %+v", i.Error.Request)
	}
	if u.Status != trace.StatusNotReached || tr.Requests != 3 || tr.Retries != 1 || len(tr.Warnings) != 1 {
		t.Errorf("trace: %+v", tr)
	}
	if len(tr.Problems()) != 2 || tr.Compact().Resources[0].Sample != nil || len(b.Sample) != 2 {
		t.Errorf("problems %d, compact sample %v", len(tr.Problems()), tr.Compact().Resources[0].Sample)
	}
}

func TestCollectorLeavesRequestlessErrorsAlone(t *testing.T) {
	c := trace.NewCollector("1700000000.000001", "p", time.Now(), trace.Options{}, []string{"user"})
	c.Observe(codefresh.Exchange{Resource: "user", Method: "GET", Path: "/user", Attempt: 1, Status: 200})
	e := &trace.Error{Message: "no key"}
	c.Finish("user", "failed", 0, 0, e, false)
	if e.Request != nil {
		t.Errorf("an error not about a request got one: %+v", e.Request)
	}
}

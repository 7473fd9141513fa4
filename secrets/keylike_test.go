package secrets

import "testing"

func TestMaskKeyLike(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"npm config set //registry.npmjs.org/:_authToken=npm_abcdefgh1234", "npm config set //registry.npmjs.org/:_authToken=[REDACTED]"},
		{"export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", "export AWS_SECRET_ACCESS_KEY=[REDACTED]"},
		{`password: "hunter2hunter2"`, `password: "[REDACTED]"`},
		{`{"api_key": "0123456789abcdef"}`, `{"api_key": "[REDACTED]"}`},
		{"codefresh auth create-context ci --api-key 5f1e2d3c4b5a.69788796a5b4c3d2", "codefresh auth create-context ci --api-key [REDACTED]"},
		{"docker login --password=s3cr3tP4ss -u bot", "docker login --password=[REDACTED] -u bot"},
		{"curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc' https://x", "curl -H 'Authorization: Bearer [REDACTED]' https://x"},
		{"cloning with ghp_0123456789abcdefghijABCDEFGHIJ012345 done", "cloning with [REDACTED] done"},
		{"key id AKIAIOSFODNN7EXAMPLE used", "key id [REDACTED] used"},
		// Ordinary lines stay as they are.
		{"PASSED tests/test_api.py::test_case_12 [ 40%]", "PASSED tests/test_api.py::test_case_12 [ 40%]"},
		{"Step 3/9 : RUN npm ci", "Step 3/9 : RUN npm ci"},
		{"using keyboard layout us", "using keyboard layout us"},
		{"secret=", "secret="},
	} {
		if got := MaskKeyLike(tc.in); got != tc.want {
			t.Errorf("MaskKeyLike(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

package destination

import "testing"

func TestRegistryFindsDriversByName(t *testing.T) {
	r := NewRegistry(Driver{Name: "a", Local: true}, Driver{Name: "b"})
	if d, ok := r.Lookup("b"); !ok || d.Name != "b" || d.Local {
		t.Errorf("Lookup(b) = %+v, %v", d, ok)
	}
	if _, ok := r.Lookup("c"); ok {
		t.Error("an unknown name was found")
	}
	defer func() {
		if recover() == nil {
			t.Error("two drivers of one name were accepted")
		}
	}()
	NewRegistry(Driver{Name: "a"}, Driver{Name: "a"})
}

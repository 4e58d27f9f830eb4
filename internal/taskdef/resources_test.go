package taskdef

import "testing"

func TestParseCPU(t *testing.T) {
	cases := []struct {
		in    string
		units int
		ok    bool
	}{
		{"1024", 1024, true},
		{"256", 256, true},
		{" 512 ", 512, true},
		{"1 vCPU", 1024, true},
		{"1 vcpu", 1024, true},
		{"1vCPU", 1024, true},
		{"2 VCPU", 2048, true},
		{"0.25 vCPU", 256, true},
		{".5 vcpu", 512, true},
		{"0.125 vCPU", 128, true},
		{"16 vCPU", 16384, true},
		{"192 vCPU", 196608, true},
		{"0.3 vCPU", 0, false}, // 307.2 units is not a whole number
		{"0 vCPU", 0, false},
		{"0", 0, false},
		{"", 0, false},
		{"vCPU", 0, false},
		{". vCPU", 0, false},
		{"-1024", 0, false},
		{"1e3", 0, false},
		{"1024 units", 0, false},
		{"1 GB", 0, false},
		{"1.5.0 vCPU", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tc := range cases {
		units, ok := ParseCPU(tc.in)
		if units != tc.units || ok != tc.ok {
			t.Errorf("ParseCPU(%q) = %d, %v; want %d, %v", tc.in, units, ok, tc.units, tc.ok)
		}
	}
}

func TestParseMemory(t *testing.T) {
	cases := []struct {
		in  string
		mib int
		ok  bool
	}{
		{"512", 512, true},
		{"2048", 2048, true},
		{"2 GB", 2048, true},
		{"2GB", 2048, true},
		{"2gb", 2048, true},
		{"0.5 GB", 512, true},
		{"1.5GB", 1536, true},
		{"120 GB", 122880, true},
		{"0.1 GB", 0, false}, // 102.4 MiB
		{"0 GB", 0, false},
		{"", 0, false},
		{"2 GiB", 0, false},
		{"2 MB", 0, false},
		{"2 TB", 0, false},
		{"1 vCPU", 0, false},
		{"-512", 0, false},
	}
	for _, tc := range cases {
		mib, ok := ParseMemory(tc.in)
		if mib != tc.mib || ok != tc.ok {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d, %v", tc.in, mib, ok, tc.mib, tc.ok)
		}
	}
}

func TestFargatePairValid(t *testing.T) {
	cases := []struct {
		cpu, memory int
		want        bool
	}{
		{256, 512, true},
		{256, 1024, true},
		{256, 2048, true},
		{256, 3072, false},
		{256, 1536, false},
		{512, 1024, true},
		{512, 4096, true},
		{512, 512, false},
		{512, 5120, false},
		{1024, 2048, true},
		{1024, 8192, true},
		{1024, 1024, false},
		{1024, 2560, false},
		{1024, 9216, false},
		{2048, 4096, true},
		{2048, 16384, true},
		{2048, 17408, false},
		{4096, 8192, true},
		{4096, 30720, true},
		{4096, 31744, false},
		{8192, 16384, true},
		{8192, 20480, true},
		{8192, 61440, true},
		{8192, 17408, false},
		{8192, 18432, false},
		{8192, 62464, false},
		{16384, 32768, true},
		{16384, 40960, true},
		{16384, 122880, true},
		{16384, 33792, false},
		{16384, 36864, false},
		{16384, 131072, false},
		{32768, 65536, false},
		{128, 512, false},
		{300, 1024, false},
	}
	for _, tc := range cases {
		if got := FargatePairValid(tc.cpu, tc.memory); got != tc.want {
			t.Errorf("FargatePairValid(%d, %d) = %v; want %v", tc.cpu, tc.memory, got, tc.want)
		}
	}

	// Fargate offers 74 task sizes in all (measured against the ECS API).
	n := 0
	for _, cpu := range []int{256, 512, 1024, 2048, 4096, 8192, 16384} {
		for mem := 512; mem <= 122880; mem += 512 {
			if FargatePairValid(cpu, mem) {
				n++
			}
		}
	}
	if n != 74 {
		t.Errorf("FargatePairValid accepts %d task sizes; want 74", n)
	}
}

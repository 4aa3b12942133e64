package bpf

//go:generate go tool bpf2go -cc clang-19 -tags linux -target amd64 -go-package bpf -type py_event -type py_config -type py_file_key -type py_code_event -type py_code_limits -type py_frame -type py_layout -type py_err -type py_stat -type py_limits -type py_frame_bits Pyperf pyperf.bpf.c -- -I./headers -I/usr/include

package io.memfdexporter.bpf;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.Delegate;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.size_t;

/**
 * The subset of the system libbpf (libbpf.so.1) the exporter calls. libbpf 1.x
 * conventions: pointer results are NULL with errno set (hence {@link SaveError});
 * int results are {@code -errno}.
 */
public interface LibBpf {
    @SaveError
    Pointer bpf_object__open_mem(Pointer objBuf, @size_t long objBufSize, Pointer opts);

    int bpf_object__load(Pointer obj);

    void bpf_object__close(Pointer obj);

    Pointer bpf_object__find_map_by_name(Pointer obj, String name);

    Pointer bpf_object__find_program_by_name(Pointer obj, String name);

    /** The map after {@code prev} (NULL: the first), NULL after the last. */
    Pointer bpf_object__next_map(Pointer obj, Pointer prev);

    Pointer bpf_object__next_program(Pointer obj, Pointer prev);

    int bpf_map__set_max_entries(Pointer map, int maxEntries);

    int bpf_map__max_entries(Pointer map);

    int bpf_map__key_size(Pointer map);

    int bpf_map__value_size(Pointer map);

    int bpf_map__fd(Pointer map);

    String bpf_map__name(Pointer map);

    int bpf_map__pin(Pointer map, String path);

    /** Makes a not yet loaded map use an existing kernel map (dups {@code fd}). */
    int bpf_map__reuse_fd(Pointer map, int fd);

    String bpf_program__section_name(Pointer prog);

    int bpf_program__fd(Pointer prog);

    String bpf_program__name(Pointer prog);

    int bpf_program__pin(Pointer prog, String path);

    /** Whether {@code bpf_object__load} loads the program; set before it. */
    int bpf_program__set_autoload(Pointer prog, boolean autoload);

    @SaveError
    Pointer bpf_program__attach(Pointer prog);

    /** Runs a program once; {@code struct bpf_test_run_opts *opts}. */
    int bpf_prog_test_run_opts(int progFd, Pointer opts);

    int bpf_link__destroy(Pointer link);

    int bpf_link__fd(Pointer link);

    /** A new iteration of an attached iterator link: an fd to read() its output from, or {@code -errno}. */
    int bpf_iter_create(int linkFd);

    int bpf_link__pin(Pointer link, String path);

    /** A pinned link; destroying it closes the fd only, the pin keeps the program attached. */
    @SaveError
    Pointer bpf_link__open(String path);

    /** An fd for a pinned object, or {@code -errno}. */
    int bpf_obj_get(String path);

    int bpf_map_lookup_batch(int fd, Pointer inBatch, Pointer outBatch, Pointer keys, Pointer values,
                             Pointer count, Pointer opts);

    int bpf_map_lookup_elem(int fd, Pointer key, Pointer value);

    /** Fills a {@code struct bpf_prog_info} (or map, link, BTF info) up to {@code *infoLen} bytes; {@code -errno}. */
    int bpf_obj_get_info_by_fd(int bpfFd, Pointer info, Pointer infoLen);

    int libbpf_num_possible_cpus();

    /** The running kernel's BTF ({@code /sys/kernel/btf/vmlinux}), or NULL with errno. */
    @SaveError
    Pointer btf__load_vmlinux_btf();

    /** A type id, or {@code -ENOENT}. */
    int btf__find_by_name_kind(Pointer btf, String typeName, int kind);

    void btf__free(Pointer btf);

    /** 1 if the kernel loads programs of this {@code enum bpf_prog_type}, 0 if not, {@code -errno} if it cannot tell. */
    int libbpf_probe_bpf_prog_type(int progType, Pointer opts);

    /** 1 if programs of the type may call the helper ({@code enum bpf_func_id}), 0 if not, {@code -errno} if it cannot tell. */
    int libbpf_probe_bpf_helper(int progType, int helperId, Pointer opts);

    /** Loads raw instructions ({@code struct bpf_insn[]}); a program fd, or {@code -errno}. */
    int bpf_prog_load(int progType, String progName, String license, Pointer insns, @size_t long insnCount, Pointer opts);

    int libbpf_major_version();

    int libbpf_minor_version();

    Pointer libbpf_set_print(PrintCallback callback);

    /** {@code libbpf_print_fn_t}: a printf format and its {@code va_list}. */
    interface PrintCallback {
        @Delegate
        int print(int level, String format, Pointer vaList);
    }
}

use std::process::ExitCode;

// tree-sitter and libpg_query allocate through malloc; mimalloc (which also replaces malloc for
// that C code) makes parsing many small files markedly faster than glibc's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    lockgate::cli::main()
}

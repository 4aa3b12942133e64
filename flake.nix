{
  # tracer as a Nix flake. Written for Nix users; it is not built in this project's CI
  # (no Nix store there), only parsed with `nix-instantiate --parse flake.nix`.
  description = "tracer: eBPF profiling and Lean-specified conformance checking of Python and Node.js transition systems";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    flake-utils.url = "github:numtide/flake-utils";
  };

  outputs = { self, nixpkgs, flake-utils }:
    flake-utils.lib.eachSystem [ "x86_64-linux" ] (system:
      let
        pkgs = nixpkgs.legacyPackages.${system};

        tracer = pkgs.buildGoModule {
          pname = "tracer";
          version = "0.1.0";
          src = ./.;
          subPackages = [ "cmd/tracer" ];
          # Replace with the hash that the first `nix build` prints.
          vendorHash = pkgs.lib.fakeHash;
          # The BPF objects are committed, so the build needs no clang.
          env.CGO_ENABLED = "0";
          ldflags = [ "-s" "-w" "-X main.version=0.1.0" ];
          # The test suite needs root, BPF and perf_event: run it with `make test` on a host.
          doCheck = false;
          meta = {
            description = "eBPF runtime tracer and conformance checker for the Moltbook transition system";
            mainProgram = "tracer";
            platforms = pkgs.lib.platforms.linux;
          };
        };

        lean = pkgs.stdenv.mkDerivation {
          pname = "moltbook-bisim";
          version = "0.1.0";
          src = ./lean;
          nativeBuildInputs = [ pkgs.lean4 ];
          buildPhase = ''
            runHook preBuild
            lake build
            runHook postBuild
          '';
          installPhase = ''
            runHook preInstall
            mkdir -p $out
            cp -r .lake/build $out/
            runHook postInstall
          '';
        };

        app = name: script: {
          type = "app";
          program = "${pkgs.writeShellScript name script}";
        };
      in
      {
        packages = {
          default = tracer;
          inherit tracer lean;
        };

        apps = {
          verify = app "tracer-verify" ''
            exec ${tracer}/bin/tracer verify "$@"
          '';
          python-contained = app "python-contained" ''
            exec ${tracer}/bin/tracer run -- ${pkgs.python3}/bin/python3 ${self}/examples/python_container.py "$@"
          '';
          nodejs-contained = app "nodejs-contained" ''
            exec ${tracer}/bin/tracer run -- ${pkgs.nodejs}/bin/node ${self}/examples/nodejs_container.js "$@"
          '';
        };

        devShells.default = pkgs.mkShell {
          packages = with pkgs; [ go clang llvm bpftools lean4 python3 nodejs gnumake ];
        };
      });
}

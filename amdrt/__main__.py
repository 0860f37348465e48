from amdrt.cli.main import main

raise SystemExit(main())

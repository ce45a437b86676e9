from umbrella.cli import main

raise SystemExit(main())

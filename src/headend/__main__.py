from headend.cli import main

main()

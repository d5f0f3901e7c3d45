# find_package(dwmlir <version>): the version is the Python package's own (dwmlir/__init__.py,
# one directory up), so it cannot drift from `dwmlir --version`. While the major version is 0,
# a different minor version is incompatible.
file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/../__init__.py" _dwmlir_version_line
     REGEX "^__version__ = \"[0-9]+\\.[0-9]+\\.[0-9]+\"$" LIMIT_COUNT 1)
string(REGEX REPLACE "^__version__ = \"([0-9.]+)\"$" "\\1" PACKAGE_VERSION "${_dwmlir_version_line}")
unset(_dwmlir_version_line)

set(PACKAGE_VERSION_COMPATIBLE FALSE)
set(PACKAGE_VERSION_EXACT FALSE)
if(NOT PACKAGE_VERSION)
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
elseif(NOT PACKAGE_FIND_VERSION OR PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
elseif(PACKAGE_FIND_VERSION VERSION_LESS PACKAGE_VERSION)
  string(REGEX MATCH "^[0-9]+\\.[0-9]+" _dwmlir_have "${PACKAGE_VERSION}")
  if(PACKAGE_VERSION VERSION_LESS 1)  # 0.x: same minor version
    set(_dwmlir_want "${PACKAGE_FIND_VERSION_MAJOR}.${PACKAGE_FIND_VERSION_MINOR}")
  else()  # same major version
    set(_dwmlir_want "${PACKAGE_FIND_VERSION_MAJOR}")
    string(REGEX MATCH "^[0-9]+" _dwmlir_have "${PACKAGE_VERSION}")
  endif()
  if(_dwmlir_want VERSION_EQUAL _dwmlir_have)
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  endif()
  unset(_dwmlir_want)
  unset(_dwmlir_have)
endif()
